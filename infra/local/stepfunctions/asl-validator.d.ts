/** Minimal typing of `asl-validator` (the package ships none), for definition checks. */
declare module 'asl-validator' {
  /** Validates an Amazon States Language definition object. */
  export default function aslValidator(
    definition: unknown,
    options?: { checkArn?: boolean; checkPaths?: boolean },
  ): { isValid: boolean; errors: unknown[]; errorsText: (separator?: string) => string };
}
