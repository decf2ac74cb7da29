/** An in-memory {@link ApiKeyStore} for in-process tests and the MCP conformance profile. */
import type { ApiKeyStore, StoredApiKey } from '../../lib/auth/api-keys.ts';

export class MemoryKeys implements ApiKeyStore {
  readonly keys = new Map<string, StoredApiKey>();
  async create(key: StoredApiKey) {
    this.keys.set(`${key.tenant}/${key.keyId}`, key);
  }
  async get(tenant: string, keyId: string) {
    return this.keys.get(`${tenant}/${keyId}`);
  }
  async list(tenant: string) {
    return [...this.keys.values()].filter((key) => key.tenant === tenant);
  }
  async revoke(tenant: string, keyId: string, revokedAt: string) {
    const key = this.keys.get(`${tenant}/${keyId}`);
    if (!key) throw new Error('missing');
    key.revokedAt = revokedAt;
    return key;
  }
}
