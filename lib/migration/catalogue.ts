/**
 * A small illustrative pool catalogue: SageMaker real-time inference instances and Lambda memory
 * sizes in two regions and two zones each. Used by the bench, the tests and as an example for
 * `PUT /migration/pools`; a tenant puts its own.
 *
 * ILLUSTRATIVE PRICES, not a quote: on-demand list prices in US dollars per hour as shown on
 * https://aws.amazon.com/sagemaker/pricing/ (real-time inference, us-east-1 and eu-west-1) and
 * https://aws.amazon.com/lambda/pricing/ ($0.0000166667 per GB-second, x86) when this was written;
 * prices change and differ by region, so check the pages. Instance capacities are from
 * https://aws.amazon.com/sagemaker/pricing/instance-types/. A Lambda "instance" is one execution
 * environment busy for the whole hour (memory/1024 × 3,600 s × the GB-second price); Lambda gives
 * one vCPU per 1,769 MB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html)
 * and has cold starts, so it serves the `standard` and `batch` classes, not `interactive`.
 */
import type { Pool } from './schemas.ts';

interface InstanceType {
  type: string;
  vcpu: number;
  memoryGiB: number;
  accelerators: number;
  acceleratorType?: string;
  /** $/h in us-east-1 and eu-west-1. */
  price: { 'us-east-1': number; 'eu-west-1': number };
}

const SAGEMAKER: readonly InstanceType[] = [
  { type: 'ml.m5.large', vcpu: 2, memoryGiB: 8, accelerators: 0, price: { 'us-east-1': 0.115, 'eu-west-1': 0.128 } },
  { type: 'ml.m5.xlarge', vcpu: 4, memoryGiB: 16, accelerators: 0, price: { 'us-east-1': 0.23, 'eu-west-1': 0.256 } },
  { type: 'ml.c5.xlarge', vcpu: 4, memoryGiB: 8, accelerators: 0, price: { 'us-east-1': 0.204, 'eu-west-1': 0.23 } },
  { type: 'ml.m5.4xlarge', vcpu: 16, memoryGiB: 64, accelerators: 0, price: { 'us-east-1': 0.922, 'eu-west-1': 1.024 } },
  {
    type: 'ml.g4dn.xlarge',
    vcpu: 4,
    memoryGiB: 16,
    accelerators: 1,
    acceleratorType: 't4',
    price: { 'us-east-1': 0.736, 'eu-west-1': 0.822 },
  },
  {
    type: 'ml.g5.xlarge',
    vcpu: 4,
    memoryGiB: 16,
    accelerators: 1,
    acceleratorType: 'a10g',
    price: { 'us-east-1': 1.408, 'eu-west-1': 1.57 },
  },
  {
    type: 'ml.g5.12xlarge',
    vcpu: 48,
    memoryGiB: 192,
    accelerators: 4,
    acceleratorType: 'a10g',
    price: { 'us-east-1': 7.09, 'eu-west-1': 7.91 },
  },
];

/** Lambda memory sizes offered (MB). */
const LAMBDA_MEMORY_MB = [1024, 2048, 4096, 10_240] as const;
/** The Lambda GB-second price (x86, first tier). */
export const LAMBDA_GB_SECOND_USD = 0.000_016_666_7;

const ZONES = { 'us-east-1': ['us-east-1a', 'us-east-1b'], 'eu-west-1': ['eu-west-1a', 'eu-west-1b'] } as const;

/**
 * The illustrative catalogue: 7 SageMaker instance types and 4 Lambda memory sizes × 2 regions × 2
 * zones (44 pools), `maxInstances` instances each.
 * @example illustrativeCatalogue(4).length // 44
 */
export function illustrativeCatalogue(maxInstances = 8): Pool[] {
  const pools: Pool[] = [];
  for (const region of ['us-east-1', 'eu-west-1'] as const) {
    for (const zone of ZONES[region]) {
      for (const t of SAGEMAKER) {
        pools.push({
          id: `sagemaker/${zone}/${t.type}`,
          platform: 'sagemaker',
          instanceType: t.type,
          region,
          zone,
          vcpu: t.vcpu,
          memoryGiB: t.memoryGiB,
          accelerators: t.accelerators,
          ...(t.acceleratorType ? { acceleratorType: t.acceleratorType } : {}),
          latencyClasses: ['interactive', 'standard', 'batch'],
          pricePerHour: t.price[region],
          maxInstances,
        });
      }
      for (const mb of LAMBDA_MEMORY_MB) {
        pools.push({
          id: `lambda/${zone}/${mb}`,
          platform: 'lambda',
          instanceType: `lambda-${mb}`,
          region,
          zone,
          vcpu: Math.round((mb / 1769) * 100) / 100,
          memoryGiB: mb / 1024,
          accelerators: 0,
          latencyClasses: ['standard', 'batch'],
          pricePerHour: Math.round((mb / 1024) * 3600 * LAMBDA_GB_SECOND_USD * 10_000) / 10_000,
          maxInstances,
        });
      }
    }
  }
  return pools;
}
