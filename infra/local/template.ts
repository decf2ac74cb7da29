/**
 * Reads the packaged CloudFormation template (what `sls package` produces for a stage) and resolves
 * it into the resources the local cloud creates: one source of truth for deploy and local runs.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type FlatTemplate, flattenStacks, siblingTemplateLoader } from './stacks.ts';

/** A CloudFormation template as JSON. */
export interface CfnTemplate {
  Parameters?: Record<string, { Type?: string; Default?: unknown; AllowedValues?: unknown[]; Description?: string }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: unknown; Condition?: string }>;
  Outputs?: Record<string, { Value: unknown; Export?: { Name: unknown }; Description?: string }>;
}

/** Raised when the template uses something the local cloud cannot resolve faithfully. */
export class UnsupportedTemplateError extends Error {
  override name = 'UnsupportedTemplateError';
}

async function filesUnder(dir: string, pattern: RegExp): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && pattern.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

/**
 * Hash of everything that shapes the template: the configuration, its fragments and generators, the
 * ASL, the engine manifests with their route specs, the list of function files, and the engines a
 * projection packages instead (`AUTONOMY_ENGINES`). Function code itself does not shape it.
 */
async function configHash(root: string, stage: string): Promise<string> {
  const hash = createHash('sha256')
    .update(stage)
    .update(TEMPLATE_ONLY_STAGES.has(stage) ? 'template-only' : 'bundles');
  const projection = process.env.AUTONOMY_ENGINES;
  const inputs = [
    path.join(root, 'serverless.yml'),
    path.join(root, 'package.json'),
    ...(await filesUnder(path.join(root, 'infra', 'resources'), /\.(ya?ml|json)$/)),
    ...(await filesUnder(path.join(root, 'infra', 'serverless'), /\.(ts|cjs)$/)),
    ...(await filesUnder(path.join(root, 'infra', 'esbuild'), /\.cjs$/)),
    path.join(root, 'infra', 'statemachines.yml'),
    ...(await filesUnder(path.join(root, 'statemachines'), /\.json$/)),
    ...(await filesUnder(path.join(root, 'lib'), /^(manifest|routes|index)\.ts$/)),
    ...(projection ? [path.resolve(root, projection)] : []),
  ];
  for (const file of inputs) hash.update(file).update(await readFile(file));
  for (const file of await filesUnder(path.join(root, 'functions'), /\.ts$/)) hash.update(file);
  return hash.digest('hex');
}

/**
 * Stages packaged for their template only: the local cloud runs every function from its source, so
 * bundling and zipping ~90 functions for it (about half of `npm test`'s start-up) buys nothing. Their
 * functions point at one empty placeholder artifact instead (`AUTONOMY_TEMPLATE_ONLY`, read by
 * infra/serverless/engines.cjs); the template is otherwise the one `sls package` writes. Stages that
 * deploy (dev, prod, …) always get their bundles.
 */
const TEMPLATE_ONLY_STAGES = new Set(['local']);

/** The smallest valid zip archive: an end-of-central-directory record and nothing else. */
const EMPTY_ZIP = Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]);

/** Packaging takes ~15 s here; past this it is stuck, and a stuck CI run helps no one. */
const PACKAGE_TIMEOUT_MS = 300_000;

/**
 * Packagings of one stage share its work folders (`.esbuild/<stage>`, where infra/serverless/bundle.cjs
 * bundles, and the output folder): one at a time per stage, here and across processes. Different
 * stages package at once (npm test boots the local stage while it packages dev).
 */
const packagingQueues = new Map<string, Promise<unknown>>();

/**
 * Runs `sls package --stage <stage>` into `<outDir>` (skipped when nothing that shapes the template
 * changed since the last run) and returns the update-stack template with its nested stacks inlined
 * (see {@link flattenStacks}; their templates are read beside it), and the list of those stacks.
 * @throws Error with the framework's output when packaging fails; UnsupportedTemplateError when the
 *   nested stacks do not fit together.
 */
export function packageStacks(root: string, stage: string, outDir: string, log: (line: string) => void = () => {}): Promise<FlatTemplate> {
  const run = (packagingQueues.get(stage) ?? Promise.resolve()).then(() =>
    withDirectoryLock(path.join(root, '.local', `package-${stage}.lock`), async () =>
      flattenStacks(await packageOnce(root, stage, outDir, log), siblingTemplateLoader(outDir)),
    ),
  );
  packagingQueues.set(
    stage,
    run.catch(() => undefined),
  );
  return run;
}

/**
 * {@link packageStacks}' template alone: everything the stage deploys, nested stacks inlined, as one template.
 * @throws as {@link packageStacks}.
 */
export async function packageTemplate(
  root: string,
  stage: string,
  outDir: string,
  log: (line: string) => void = () => {},
): Promise<CfnTemplate> {
  return (await packageStacks(root, stage, outDir, log)).template;
}

/**
 * Runs `work` while holding a lock directory, so two processes (`npm start` and `npm test`, say)
 * never package into the same work folder at once. A lock older than a packaging timeout is stale.
 */
async function withDirectoryLock<T>(lockDir: string, work: () => Promise<T>): Promise<T> {
  await mkdir(path.dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      await mkdir(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(lockDir).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if (age > PACKAGE_TIMEOUT_MS + 30_000) await rm(lockDir, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function packageOnce(root: string, stage: string, outDir: string, log: (line: string) => void): Promise<CfnTemplate> {
  const templatePath = path.join(outDir, 'cloudformation-template-update-stack.json');
  const hashPath = path.join(outDir, '.config-hash');
  const hash = await configHash(root, stage);
  if (existsSync(templatePath) && existsSync(hashPath) && (await readFile(hashPath, 'utf8')) === hash) {
    return JSON.parse(await readFile(templatePath, 'utf8')) as CfnTemplate;
  }
  await mkdir(outDir, { recursive: true });
  const templateOnly = TEMPLATE_ONLY_STAGES.has(stage);
  const placeholder = path.join(root, '.local', 'template-only.zip');
  if (templateOnly) await writeFile(placeholder, EMPTY_ZIP);
  log(`packaging the service for stage ${stage} (sls package${templateOnly ? ', template only: the functions run from source' : ''})…`);
  const sls = path.join(root, 'node_modules', 'osls', 'bin', 'serverless.js');
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [sls, 'package', '--stage', stage, '--package', outDir], {
      cwd: root,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
        AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        ...(templateOnly ? { AUTONOMY_TEMPLATE_ONLY: placeholder } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PACKAGE_TIMEOUT_MS);
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(text);
      else if (signal === 'SIGKILL') reject(new Error(`sls package did not finish within ${PACKAGE_TIMEOUT_MS / 1000} s:\n${text}`));
      else reject(new Error(`sls package failed (exit ${code}):\n${text}`));
    });
  });
  if (!existsSync(templatePath)) throw new Error(`sls package produced no template:\n${output}`);
  await writeFile(hashPath, hash);
  return JSON.parse(await readFile(templatePath, 'utf8')) as CfnTemplate;
}

/** Physical facts about a created resource: what `Ref` returns and its `Fn::GetAtt` attributes. */
export interface PhysicalResource {
  ref: string;
  attributes: Record<string, string>;
}

/** Resolves CloudFormation intrinsic functions against the physical resources known so far. */
export class IntrinsicResolver {
  readonly physical = new Map<string, PhysicalResource>();
  private readonly pseudo: Record<string, string>;

  constructor(options: { region: string; accountId: string; stackName: string }) {
    this.pseudo = {
      'AWS::Region': options.region,
      'AWS::AccountId': options.accountId,
      'AWS::Partition': 'aws',
      'AWS::StackName': options.stackName,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::NoValue': '',
    };
  }

  private ref(name: string): string {
    const pseudo = this.pseudo[name];
    if (pseudo !== undefined) return pseudo;
    const resource = this.physical.get(name);
    if (!resource) throw new UnsupportedTemplateError(`Ref to ${name}, which the local cloud has not created`);
    return resource.ref;
  }

  private getAtt(name: string, attribute: string): string {
    const resource = this.physical.get(name);
    const value = resource?.attributes[attribute];
    if (value === undefined) throw new UnsupportedTemplateError(`Fn::GetAtt ${name}.${attribute} is not known to the local cloud`);
    return value;
  }

  private sub(text: string, vars: Record<string, unknown>): string {
    return text
      .replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
        if (name in vars) return String(this.resolve(vars[name]));
        if (name.includes('.')) {
          const [logical, ...attr] = name.split('.');
          return this.getAtt(logical ?? '', attr.join('.'));
        }
        return this.ref(name);
      })
      .replace(/\$\{!/g, '${');
  }

  /** Resolves every intrinsic inside `value`; plain values pass through. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && first) {
      const [key, arg] = first;
      switch (key) {
        case 'Ref':
          return this.ref(String(arg));
        case 'Fn::GetAtt': {
          const [name, attribute] = Array.isArray(arg) ? arg.map(String) : String(arg).split(/\.(.*)/s);
          return this.getAtt(name ?? '', attribute ?? '');
        }
        case 'Fn::Sub':
          if (typeof arg === 'string') return this.sub(arg, {});
          if (Array.isArray(arg)) return this.sub(String(arg[0]), (arg[1] ?? {}) as Record<string, unknown>);
          break;
        case 'Fn::Join': {
          const [separator, items] = arg as [string, unknown[]];
          return (this.resolve(items) as unknown[]).join(separator);
        }
        case 'Fn::Select': {
          const [index, items] = arg as [unknown, unknown];
          return (this.resolve(items) as unknown[])[Number(this.resolve(index))];
        }
        case 'Fn::Split': {
          const [separator, text] = arg as [string, unknown];
          return String(this.resolve(text)).split(separator);
        }
        default:
          if (key.startsWith('Fn::')) throw new UnsupportedTemplateError(`${key} is not supported by the local cloud`);
      }
    }
    return Object.fromEntries(entries.map(([key, inner]) => [key, this.resolve(inner)]));
  }
}

/** Logical ids of the template's resources of one type, in template order. */
export function resourcesOfType(template: CfnTemplate, type: string): Array<[string, Record<string, unknown>]> {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => [id, resource.Properties ?? {}]);
}
