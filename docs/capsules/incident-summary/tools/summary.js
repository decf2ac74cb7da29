// A tool of the incident-summary capsule, run in the sandbox with the capabilities its manifest declares.
export function countLines(input) {
  return { lines: String(input.text).split('\n').length };
}
