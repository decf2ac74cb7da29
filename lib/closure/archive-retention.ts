/**
 * How long a termination's archive lives, the S3 way: each archive object is tagged with a retention
 * class, and the artifacts bucket has one lifecycle rule per class (infra/resources/storage.yml) that
 * expires objects with that tag after that many days and removes the expired version a day later (the
 * bucket is versioned). Lifecycle rules are fixed at deploy time while a policy's `retentionDays` is any
 * of 1–3650, so an archive takes the smallest class that is at least its policy's retention: it is never
 * deleted before the policy allows, and at most about twice as late from 8 days on (1 day becomes 1,
 * 2–7 become 7). S3 runs expirations asynchronously, usually within a day or two of the date.
 * Pure: plain data in and out.
 */

/** The retention classes in days, ascending: one lifecycle rule each. The last is the policy's maximum. */
export const ARCHIVE_RETENTION_CLASSES = [
  1, 7, 14, 30, 60, 90, 120, 180, 270, 365, 545, 730, 1095, 1460, 1825, 2190, 2555, 2920, 3285, 3650,
] as const;

/** The tag key the bucket's lifecycle rules filter on (shared with the audit payloads' and exports' rules). */
export const RETENTION_TAG_KEY = 'autonomy-retention';

/** An archive's retention: the policy's days, the class it is kept for, and the tag that puts it in that class. */
export interface ArchiveRetention {
  /** The policy's retention in days. */
  retentionDays: number;
  /** Days after which the bucket's lifecycle rule expires the object (≥ `retentionDays`). */
  expireAfterDays: number;
  tag: { key: typeof RETENTION_TAG_KEY; value: string };
}

/** The tag value of a retention class (`closure-archive-365d`). */
export function retentionTagValue(classDays: number): string {
  return `closure-archive-${classDays}d`;
}

/** The id of the bucket's lifecycle rule for a retention class (`expire-closure-archives-365d`). */
export function lifecycleRuleId(classDays: number): string {
  return `expire-closure-archives-${classDays}d`;
}

/**
 * The retention of an archive kept `retentionDays` days: the smallest class at least that long.
 * @throws RangeError when `retentionDays` is not an integer from 1 to the largest class (the policy schema keeps it there).
 * @example archiveRetention(400) // { retentionDays: 400, expireAfterDays: 545, tag: { key: 'autonomy-retention', value: 'closure-archive-545d' } }
 */
export function archiveRetention(retentionDays: number): ArchiveRetention {
  const expireAfterDays = ARCHIVE_RETENTION_CLASSES.find((days) => days >= retentionDays);
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || expireAfterDays === undefined)
    throw new RangeError(`retentionDays must be an integer from 1 to ${ARCHIVE_RETENTION_CLASSES.at(-1)}, not ${retentionDays}`);
  return { retentionDays, expireAfterDays, tag: { key: RETENTION_TAG_KEY, value: retentionTagValue(expireAfterDays) } };
}
