/**
 * The sandbox's vocabulary: the capabilities a capsule's manifest declares for its own code, and the
 * limits of one run. zod schemas with their `z.infer` types, shared by the manifest's schema and
 * {@link runSandboxed} (lib/capsules/sandbox.ts).
 */
import { z } from 'zod';

/** The capabilities that are words, not patterns. */
export const SIMPLE_CAPABILITIES = ['read:inputs', 'clock', 'random'] as const;

/** `call:tool:<name>`: the prefix of a capability granting one tool. */
export const TOOL_CAPABILITY_PREFIX = 'call:tool:';

/** A tool name a capability may grant: an engine action's MCP tool (`<path>_<verb>`) or a dotted gateway name. */
export const toolNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/, 'a tool name is 1-128 letters, digits, and _ . : / - (starting with a letter or digit)');

/**
 * One capability a capsule's code may be granted:
 * - `read:inputs`: the run's input is passed to the entry (without it, the entry gets `undefined`);
 * - `call:tool:<name>`: `capsule.callTool('<name>', args)` reaches that tool, and no other;
 * - `clock`: `Date` reads the host's clock (without it, time is frozen at the run's `frozenNow`);
 * - `random`: `Math.random` is a PRNG seeded by the host (without it, calling it ends the run).
 *
 * Nothing grants the network, a filesystem, `process`, modules or host objects: the sandbox has none.
 */
export const capabilitySchema = z.union([
  z.enum(SIMPLE_CAPABILITIES),
  z
    .templateLiteral([TOOL_CAPABILITY_PREFIX, z.string()])
    .refine((value) => toolNameSchema.safeParse(value.slice(TOOL_CAPABILITY_PREFIX.length)).success, {
      message: 'call:tool:<name> needs a tool name of 1-128 letters, digits, and _ . : / -',
    }),
]);
/** See {@link capabilitySchema}. */
export type Capability = z.infer<typeof capabilitySchema>;

/** A manifest's capability list: at most 64, no duplicates. */
export const capabilitiesSchema = z
  .array(capabilitySchema)
  .max(64)
  .refine((list) => new Set(list).size === list.length, { message: 'a capability is listed twice' });

const KIB = 1024;
const MIB = 1024 * KIB;

/**
 * The deepest QuickJS stack a run may ask for. QuickJS counts its own (C) stack, in wasm linear
 * memory, but every guest frame also takes native stack in the host's V8; past about 300 KiB of
 * QuickJS stack, V8's own ~1 MB limit is reached first in some built-ins (JSON.stringify of a
 * deeply nested value), so the cap stays below it. A native overflow is still contained (the run
 * ends with `stack` and its WebAssembly instance is dropped), only less precisely reported.
 */
export const MAX_STACK_BYTES = 256 * KIB;

/**
 * The limits of one run. Defaults fit a capsule's small tool function; every limit has a hard cap.
 * `fuel` counts QuickJS interrupt-handler calls: the interpreter calls it about every 10,000
 * bytecode steps (calls and backward jumps count), so one unit is roughly 10,000 steps: 0.05-0.7 ms
 * of busy interpretation on the bench machine, depending on the code (bench/capsule-sandbox.ts).
 * Work inside a built-in (a native loop) does not count; the wall clock bounds it.
 */
export const sandboxLimitsSchema = z
  .object({
    /** QuickJS's allocation limit (`JS_SetMemoryLimit`). */
    memoryBytes: z
      .number()
      .int()
      .min(MIB)
      .max(256 * MIB)
      .default(32 * MIB),
    /** QuickJS's stack limit (`JS_SetMaxStackSize`); see {@link MAX_STACK_BYTES}. */
    stackBytes: z
      .number()
      .int()
      .min(32 * KIB)
      .max(MAX_STACK_BYTES)
      .default(MAX_STACK_BYTES),
    /** Interrupt-handler calls allowed over a run, or one call of an open sandbox (CPU in guest code, not waiting on tools). */
    fuel: z.number().int().min(1).max(1_000_000).default(2_500),
    /**
     * Wall-clock budget of a run from its start (instance, load, call, tool waits), or of one call of an open sandbox.
     * Bytecode stops at it (the interrupt handler); native work in a built-in stops within 25 ms of it (a watchdog).
     */
    timeoutMs: z.number().int().min(1).max(900_000).default(3_000),
    /** Largest output, as UTF-8 JSON. */
    maxOutputBytes: z
      .number()
      .int()
      .min(16)
      .max(6 * MIB)
      .default(256 * KIB),
    /** Largest input, as UTF-8 JSON (and the largest tool result passed in). */
    maxInputBytes: z
      .number()
      .int()
      .min(16)
      .max(6 * MIB)
      .default(MIB),
    /** Tool calls allowed in a run, or in one call of an open sandbox. */
    maxToolCalls: z.number().int().min(0).max(1_000).default(32),
  })
  .strict();
/** See {@link sandboxLimitsSchema}. */
export type SandboxLimits = z.infer<typeof sandboxLimitsSchema>;
/** Limits as a caller gives them: every field optional. */
export type SandboxLimitsInput = z.input<typeof sandboxLimitsSchema>;

/** The name of the module export a run calls: a JavaScript identifier. */
export const entryNameSchema = z
  .string()
  .regex(/^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/, 'the entry is an exported function name (a JavaScript identifier)');

/** Why a run failed: one word a caller can branch on, with a sentence in `message`. */
export const sandboxErrorKindSchema = z.enum([
  /** The bundle did not come from the signature verifier. */
  'unverified',
  /** The code did not compile, imports a module, or does not export the entry as a function. */
  'load',
  /** The input is not JSON data or is too large. */
  'input',
  /** The run asked for a capability it was not granted (a tool, `random`), or was granted one its manifest does not declare. */
  'capability',
  /** More tool calls than `maxToolCalls`. */
  'tool-calls',
  /** The wall-clock budget ran out. */
  'timeout',
  /** The CPU budget (interrupts) ran out. */
  'fuel',
  /** The memory limit was reached. */
  'memory',
  /** The stack limit was reached (too deep a recursion). */
  'stack',
  /** The code threw (or its promise rejected) a value of its own. */
  'guest',
  /** The entry's result is not JSON data (a function, a cycle, a `__proto__` key, too deep) or is too large. */
  'output',
  /** The sandbox itself failed (a WebAssembly trap); the instance is dropped. */
  'internal',
]);
/** See {@link sandboxErrorKindSchema}. */
export type SandboxErrorKind = z.infer<typeof sandboxErrorKindSchema>;
