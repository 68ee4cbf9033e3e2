import type { Context, MSKEvent } from 'aws-lambda';

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

export function lambdaContext(remainingMs = 300_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'cdcSync',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:cdcSync',
    memoryLimitInMB: '1024',
    awsRequestId: `req-${Math.random().toString(16).slice(2)}`,
    logGroupName: '/aws/lambda/cdcSync',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
