/**
 * Archive retention of the Closure engine (lib/closure/archive-retention.ts): every policy retention
 * (1–3650 days) maps to the smallest retention class at least that long (never deleted before the
 * policy allows, at most twice as late from 8 days on), and the archive writer
 * (lib/adapters/aws/closure-deps.ts `writeArchive`) sends that class as the object's
 * `autonomy-retention` tag on the PutObject itself, seen on the wire by a fake S3 endpoint (the local
 * cloud's S3 does not keep tags). The bucket's lifecycle rule per class is checked in the packaged
 * template (test/unit/template.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { writeArchive } from '../../lib/adapters/aws/closure-deps.ts';
import { ARCHIVE_RETENTION_CLASSES, archiveRetention, lifecycleRuleId, RETENTION_TAG_KEY } from '../../lib/closure/archive-retention.ts';
import { kindPolicySchema } from '../../lib/closure/schemas.ts';
import { clientSettings, type FakeAws, startFakeAws } from '../helpers/fake-aws.ts';

describe('archive retention classes', () => {
  it('keeps every policy retention from 1 to 3650 days at least that long, in the smallest class, at most twice as long from 8 days on', () => {
    const policyDays = kindPolicySchema.shape.retentionDays.unwrap();
    const max = policyDays.maxValue ?? 0;
    assert.equal(max, ARCHIVE_RETENTION_CLASSES.at(-1), "the largest class is the policy schema's maximum");
    for (let days = policyDays.minValue ?? 0; days <= max; days += 1) {
      const { expireAfterDays } = archiveRetention(days);
      assert.ok(expireAfterDays >= days, `${days} days expire after ${expireAfterDays}`);
      const smaller = ARCHIVE_RETENTION_CLASSES.filter((c) => c < expireAfterDays).at(-1) ?? 0;
      assert.ok(smaller < days, `${days} days could use class ${smaller}`);
      if (days >= 8) assert.ok(expireAfterDays <= 2 * days, `${days} days kept ${expireAfterDays}`);
    }
  });

  it('names the tag and the rule after the class', () => {
    assert.deepEqual(archiveRetention(365), {
      retentionDays: 365,
      expireAfterDays: 365,
      tag: { key: RETENTION_TAG_KEY, value: 'closure-archive-365d' },
    });
    assert.equal(archiveRetention(366).tag.value, 'closure-archive-545d');
    assert.deepEqual(
      [1, 2, 7, 8].map((days) => archiveRetention(days).expireAfterDays),
      [1, 7, 7, 14],
    );
    assert.equal(lifecycleRuleId(545), 'expire-closure-archives-545d');
  });

  it('refuses a retention outside the policy range', () => {
    for (const days of [0, -1, 3651, 1.5, Number.NaN]) assert.throws(() => archiveRetention(days), RangeError, String(days));
  });
});

describe('writing an archive', () => {
  let fake: FakeAws;
  before(async () => {
    fake = await startFakeAws();
  });
  after(() => fake.close());

  it('tags the object with its retention class on the PutObject itself', async () => {
    fake.answer(() => ({ status: 200, headers: { etag: '"x"' } }));
    const client = new S3Client({ ...clientSettings(fake.endpoint), forcePathStyle: true });
    try {
      const key = await writeArchive(client, 'artifacts', 'acme', 'term-1', { manifest: { a: 1 } }, archiveRetention(400));
      assert.equal(key, 'acme/closure/archives/term-1.json');
      const [put] = fake.requests;
      assert.equal(put?.method, 'PUT');
      assert.equal(put?.path.split('?')[0], '/artifacts/acme/closure/archives/term-1.json');
      assert.equal(put?.headers['x-amz-tagging'], 'autonomy-retention=closure-archive-545d');
      assert.deepEqual(JSON.parse(put?.body ?? ''), { manifest: { a: 1 } });
    } finally {
      client.destroy();
    }
  });
});
