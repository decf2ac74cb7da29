/**
 * The local Secrets Manager: the slice of the AWS JSON protocol (`X-Amz-Target: secretsmanager.*`)
 * the product uses — CreateSecret, DescribeSecret, GetSecretValue, PutSecretValue — with versions,
 * staging labels (AWSCURRENT / AWSPREVIOUS) and `ClientRequestToken` idempotency as AWS defines
 * them: a token already used with the same value is a no-op, with another value it is refused
 * (`ResourceExistsException`). Callers build compare-and-swap on that rule, so it is exact here.
 * Secrets persist as one JSON file each under the data directory.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AwsServiceError, type JsonOperation } from '../http/aws-json.ts';
import { JsonStore } from '../stepfunctions/store.ts';

interface StoredVersion {
  secretString?: string;
  secretBinary?: string;
  createdDate: number;
  stages: string[];
}

interface StoredSecret {
  name: string;
  arn: string;
  description?: string;
  kmsKeyId?: string;
  createdDate: number;
  lastChangedDate: number;
  /** Version id → version, in creation order. */
  versions: Record<string, StoredVersion>;
}

/** What the template asks for when it declares an `AWS::SecretsManager::Secret`. */
export interface SecretDeclaration {
  name: string;
  description?: string;
  kmsKeyId?: string;
  secretString?: string;
  generateSecretString?: {
    SecretStringTemplate?: string;
    GenerateStringKey?: string;
    PasswordLength?: number;
    ExcludeCharacters?: string;
    ExcludePunctuation?: boolean;
  };
}

const CURRENT = 'AWSCURRENT';
const PREVIOUS = 'AWSPREVIOUS';
const PENDING = 'AWSPENDING';
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const MAX_SECRET_BYTES = 65_536;

const epochSeconds = () => Date.now() / 1000;

function stringField(input: Record<string, unknown>, name: string, required = false): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) {
    if (required) throw new AwsServiceError('InvalidParameterException', `${name} is required`);
    return undefined;
  }
  if (typeof value !== 'string') throw new AwsServiceError('InvalidParameterException', `${name} must be a string`);
  return value;
}

function checkToken(token: string | undefined): string {
  if (token === undefined) return randomUUID();
  if (token.length < 32 || token.length > 64) {
    throw new AwsServiceError('InvalidParameterException', 'ClientRequestToken must be 32 to 64 characters long');
  }
  return token;
}

function checkValue(secretString: string | undefined, secretBinary: string | undefined): void {
  if (secretString !== undefined && secretBinary !== undefined) {
    throw new AwsServiceError('InvalidParameterException', 'You can specify SecretString or SecretBinary, not both');
  }
  const size = Buffer.byteLength(secretString ?? '') + Buffer.from(secretBinary ?? '', 'base64').length;
  if (size > MAX_SECRET_BYTES) throw new AwsServiceError('InvalidParameterException', `The secret value exceeds ${MAX_SECRET_BYTES} bytes`);
}

function generatedPassword(spec: NonNullable<SecretDeclaration['generateSecretString']>): string {
  const punctuation = spec.ExcludePunctuation ? '' : '!#$%&()*+,-.:;<=>?@[]^_{|}~';
  const excluded = new Set(spec.ExcludeCharacters ?? '');
  const alphabet = [...`${BASE62}${punctuation}`].filter((char) => !excluded.has(char));
  const length = spec.PasswordLength ?? 32;
  return [...randomBytes(length)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

/** The Secrets Manager of the local cloud. */
export class SecretsManagerService {
  readonly #store: JsonStore;
  readonly #region: string;
  readonly #accountId: string;

  constructor(options: { dataDir: string; region: string; accountId: string }) {
    this.#store = new JsonStore(options.dataDir);
    this.#region = options.region;
    this.#accountId = options.accountId;
  }

  /**
   * The ARN of a secret name. AWS appends six random characters; here they are derived from the
   * name so the ARN survives restarts (templates resolve `Ref` before the secret is looked up).
   */
  arnOf(name: string): string {
    const digest = createHash('sha256').update(`${this.#accountId}:${this.#region}:${name}`).digest();
    const suffix = [...digest.subarray(0, 6)].map((byte) => BASE62[byte % BASE62.length]).join('');
    return `arn:aws:secretsmanager:${this.#region}:${this.#accountId}:secret:${name}-${suffix}`;
  }

  #file(name: string): string {
    return `secrets/${encodeURIComponent(name)}.json`;
  }

  /** Finds a secret by name, full ARN, or partial ARN (the ARN without its six-character suffix). */
  #find(secretId: string): StoredSecret {
    const prefix = `arn:aws:secretsmanager:${this.#region}:${this.#accountId}:secret:`;
    const candidates = secretId.startsWith(prefix)
      ? [secretId.slice(prefix.length).replace(/-[A-Za-z0-9]{6}$/, ''), secretId.slice(prefix.length)]
      : [secretId];
    for (const name of candidates) {
      const secret = this.#store.read<StoredSecret>(this.#file(name));
      if (secret !== undefined && (secretId === name || secretId === secret.arn || secretId === `${prefix}${name}`)) return secret;
    }
    throw new AwsServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
  }

  #save(secret: StoredSecret): void {
    this.#store.write(this.#file(secret.name), secret);
  }

  /** Adds a version and moves the given stages onto it (AWSCURRENT's old holder becomes AWSPREVIOUS). */
  #addVersion(secret: StoredSecret, versionId: string, value: { secretString?: string; secretBinary?: string }, stages: string[]): void {
    const now = epochSeconds();
    for (const version of Object.values(secret.versions)) {
      const hadCurrent = version.stages.includes(CURRENT);
      version.stages = version.stages.filter((stage) => !stages.includes(stage) && !(stages.includes(CURRENT) && stage === PREVIOUS));
      if (hadCurrent && stages.includes(CURRENT)) version.stages.push(PREVIOUS);
    }
    secret.versions[versionId] = { ...value, createdDate: now, stages };
    // Versions with no stage left are deprecated; AWS keeps ~100, we keep 100 too.
    const ids = Object.keys(secret.versions);
    for (const id of ids.slice(0, Math.max(0, ids.length - 100))) {
      if (secret.versions[id]?.stages.length === 0) delete secret.versions[id];
    }
    secret.lastChangedDate = now;
  }

  /** Creates a secret the template declares, unless it exists (a restart keeps its value). Returns the ARN. */
  declare(declaration: SecretDeclaration): string {
    const existing = this.#store.read<StoredSecret>(this.#file(declaration.name));
    if (existing !== undefined) return existing.arn;
    let secretString = declaration.secretString;
    const generate = declaration.generateSecretString;
    if (secretString === undefined && generate !== undefined) {
      const password = generatedPassword(generate);
      if (generate.SecretStringTemplate !== undefined && generate.GenerateStringKey !== undefined) {
        const template = JSON.parse(generate.SecretStringTemplate) as Record<string, unknown>;
        secretString = JSON.stringify({ ...template, [generate.GenerateStringKey]: password });
      } else secretString = password;
    }
    this.#create({ Name: declaration.name, Description: declaration.description, KmsKeyId: declaration.kmsKeyId, SecretString: secretString });
    return this.arnOf(declaration.name);
  }

  #create(input: Record<string, unknown>): { ARN: string; Name: string; VersionId?: string } {
    const name = stringField(input, 'Name', true) ?? '';
    if (!NAME.test(name)) throw new AwsServiceError('InvalidParameterException', `Invalid name ${name}`);
    if (this.#store.read<StoredSecret>(this.#file(name)) !== undefined) {
      throw new AwsServiceError('ResourceExistsException', `The operation failed because the secret ${name} already exists.`);
    }
    const secretString = stringField(input, 'SecretString');
    const secretBinary = stringField(input, 'SecretBinary');
    checkValue(secretString, secretBinary);
    const now = epochSeconds();
    const secret: StoredSecret = { name, arn: this.arnOf(name), createdDate: now, lastChangedDate: now, versions: {} };
    const description = stringField(input, 'Description');
    const kmsKeyId = stringField(input, 'KmsKeyId');
    if (description !== undefined) secret.description = description;
    if (kmsKeyId !== undefined) secret.kmsKeyId = kmsKeyId;
    if (secretString === undefined && secretBinary === undefined) {
      this.#save(secret);
      return { ARN: secret.arn, Name: name };
    }
    const versionId = checkToken(stringField(input, 'ClientRequestToken'));
    this.#addVersion(secret, versionId, { secretString, secretBinary }, [CURRENT]);
    this.#save(secret);
    return { ARN: secret.arn, Name: name, VersionId: versionId };
  }

  #versionFor(secret: StoredSecret, versionId: string | undefined, stage: string | undefined): [string, StoredVersion] {
    if (versionId !== undefined) {
      const version = secret.versions[versionId];
      if (version === undefined || (stage !== undefined && !version.stages.includes(stage))) {
        throw new AwsServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      }
      return [versionId, version];
    }
    const wanted = stage ?? CURRENT;
    const found = Object.entries(secret.versions).find(([, version]) => version.stages.includes(wanted));
    if (found === undefined) {
      throw new AwsServiceError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${wanted}`);
    }
    return found;
  }

  /** The JSON-protocol operations, for `dispatchJson(req, res, 'secretsmanager', …)`. */
  operations(): Record<string, JsonOperation> {
    return {
      CreateSecret: (input) => this.#create(input),
      DescribeSecret: (input) => {
        const secret = this.#find(stringField(input, 'SecretId', true) ?? '');
        return {
          ARN: secret.arn,
          Name: secret.name,
          Description: secret.description,
          KmsKeyId: secret.kmsKeyId,
          CreatedDate: secret.createdDate,
          LastChangedDate: secret.lastChangedDate,
          VersionIdsToStages: Object.fromEntries(
            Object.entries(secret.versions)
              .filter(([, version]) => version.stages.length > 0)
              .map(([id, version]) => [id, version.stages]),
          ),
        };
      },
      GetSecretValue: (input) => {
        const secret = this.#find(stringField(input, 'SecretId', true) ?? '');
        const [versionId, version] = this.#versionFor(secret, stringField(input, 'VersionId'), stringField(input, 'VersionStage'));
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: versionId,
          SecretString: version.secretString,
          SecretBinary: version.secretBinary,
          VersionStages: version.stages,
          CreatedDate: version.createdDate,
        };
      },
      PutSecretValue: (input) => {
        const secret = this.#find(stringField(input, 'SecretId', true) ?? '');
        const secretString = stringField(input, 'SecretString');
        const secretBinary = stringField(input, 'SecretBinary');
        if (secretString === undefined && secretBinary === undefined) {
          throw new AwsServiceError('InvalidParameterException', 'You must provide either SecretString or SecretBinary');
        }
        checkValue(secretString, secretBinary);
        const versionId = checkToken(stringField(input, 'ClientRequestToken'));
        const rawStages = input.VersionStages;
        if (rawStages !== undefined && (!Array.isArray(rawStages) || rawStages.some((stage) => typeof stage !== 'string'))) {
          throw new AwsServiceError('InvalidParameterException', 'VersionStages must be a list of strings');
        }
        const stages = (rawStages as string[] | undefined) ?? [CURRENT];
        const existing = secret.versions[versionId];
        if (existing !== undefined) {
          // Same token, same value: the retry of a request that already succeeded.
          if (existing.secretString === secretString && existing.secretBinary === secretBinary) {
            return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: existing.stages };
          }
          throw new AwsServiceError('ResourceExistsException', "You can't modify an existing version, you can only create a new version.");
        }
        if (stages.includes(PENDING) && stages.includes(CURRENT)) {
          throw new AwsServiceError('InvalidParameterException', 'A version cannot be both AWSPENDING and AWSCURRENT');
        }
        this.#addVersion(secret, versionId, { secretString, secretBinary }, stages);
        this.#save(secret);
        return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: stages };
      },
    };
  }
}
