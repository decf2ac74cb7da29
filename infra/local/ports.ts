/**
 * Ports of the local cloud: fixed defaults for `npm start` (overridable by environment), free
 * ephemeral ports for test runs so tests and a running `npm start` never collide.
 */
import { createServer } from 'node:net';
import type { LocalCloudPorts } from './cloud.ts';

/** The ports `npm start` uses unless `AUTONOMY_PORT_<NAME>` says otherwise. */
export function defaultPorts(env: NodeJS.ProcessEnv = process.env): LocalCloudPorts {
  const port = (name: string, fallback: number) => {
    const value = Number(env[`AUTONOMY_PORT_${name}`] ?? fallback);
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`AUTONOMY_PORT_${name} must be a port number`);
    return value;
  };
  return { api: port('API', 3000), gateway: port('GATEWAY', 4599), dynamodb: port('DYNAMODB', 4598), storage: port('STORAGE', 4597) };
}

/** One free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Four distinct free ports. */
export async function freePorts(): Promise<LocalCloudPorts> {
  const ports = new Set<number>();
  while (ports.size < 4) ports.add(await freePort());
  const [api = 0, gateway = 0, dynamodb = 0, storage = 0] = [...ports];
  return { api, gateway, dynamodb, storage };
}
