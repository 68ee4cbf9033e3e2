import type { MSKEvent } from 'aws-lambda';

export interface TestRecord {
  topic: string;
  value: string | null;
  partition?: number;
  key?: string;
}

let nextOffset = 1000;

/** An MSK event as Lambda delivers it: records grouped by `topic-partition`, values base64. */
export function mskEvent(records: TestRecord[], offsets?: number[]): MSKEvent {
  const grouped: MSKEvent['records'] = {};
  records.forEach((r, i) => {
    const partition = r.partition ?? 0;
    const tp = `${r.topic}-${partition}`;
    grouped[tp] ??= [];
    grouped[tp].push({
      topic: r.topic,
      partition,
      offset: offsets?.[i] ?? nextOffset++,
      timestamp: Date.now(),
      timestampType: 'CREATE_TIME',
      key: Buffer.from(r.key ?? '').toString('base64'),
      value: r.value === null ? (null as unknown as string) : Buffer.from(r.value).toString('base64'),
      headers: [],
    });
  });
  return {
    eventSource: 'aws:kafka',
    eventSourceArn: 'arn:aws:kafka:us-east-1:123456789012:cluster/test/abc',
    bootstrapServers: 'b-1.test:9098',
    records: grouped,
  };
}

export { lambdaContext } from '../../dev/lambda';
