import { describe, expect, it } from 'vitest';
import { parseConfig } from './load';
import {
  cdcEvents,
  eventSourceMappingExtensions,
  httpApiConfig,
  iamStatements,
  manualSyncEvents,
} from './serverless-resources';

const MSK = 'arn:aws:kafka:us-east-1:123456789012:cluster/prod-msk/abc-1';
const base = {
  databases: {
    on: { role: 'online', url: 'mysql://r:p@10.0.0.1:3306' },
    off: { role: 'offline', secretId: 'arn:aws:secretsmanager:us-east-1:1:secret:off-AbC' },
  },
};

describe('serverless fragments', () => {
  it('one event per topic: msk, self-managed kafka, none for local-only entries', () => {
    const cfg = parseConfig({
      ...base,
      cdc: [
        { topics: ['a.b.c', 'a.b.d'], target: 'off', msk: { arn: MSK }, batchSize: 100 },
        {
          topics: ['tidb.x'],
          target: 'off',
          kafka: {
            bootstrapServers: ['k1:9092'],
            accessConfigurations: { saslScram512Auth: ['arn:aws:secretsmanager:x'] },
          },
          retry: { onFailureDestination: 'arn:aws:sqs:us-east-1:1:dlq' },
        },
        { topics: ['local.only'], target: 'off' },
      ],
    });
    expect(cdcEvents(cfg)).toEqual([
      {
        msk: {
          arn: MSK,
          topic: 'a.b.c',
          batchSize: 100,
          maximumBatchingWindow: 1,
          startingPosition: 'TRIM_HORIZON',
          enabled: true,
        },
      },
      {
        msk: {
          arn: MSK,
          topic: 'a.b.d',
          batchSize: 100,
          maximumBatchingWindow: 1,
          startingPosition: 'TRIM_HORIZON',
          enabled: true,
        },
      },
      {
        kafka: {
          bootstrapServers: ['k1:9092'],
          accessConfigurations: { saslScram512Auth: ['arn:aws:secretsmanager:x'] },
          onFailureDestination: 'arn:aws:sqs:us-east-1:1:dlq',
          topic: 'tidb.x',
          batchSize: 500,
          maximumBatchingWindow: 1,
          startingPosition: 'TRIM_HORIZON',
          enabled: true,
        },
      },
    ]);
  });

  it('retry settings become extensions on the logical ids osls generates', () => {
    const cfg = parseConfig({
      ...base,
      cdc: [
        {
          topics: ['db.shop.t_config'],
          target: 'off',
          msk: { arn: MSK },
          retry: {
            maximumRetryAttempts: 3,
            reportBatchItemFailures: true,
            provisionedPollers: { minimumPollers: 1, maximumPollers: 4 },
            onFailureDestination: 'arn:aws:sqs:us-east-1:1:dlq',
          },
        },
      ],
    });
    expect(eventSourceMappingExtensions(cfg)).toEqual({
      CdcSyncEventSourceMappingMSKProdmskDbshoptconfig: {
        Properties: {
          MaximumRetryAttempts: 3,
          BisectBatchOnFunctionError: true,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          DestinationConfig: { OnFailure: { Destination: 'arn:aws:sqs:us-east-1:1:dlq' } },
        },
      },
    });
    expect(cdcEvents(cfg)[0]).toMatchObject({
      msk: { provisionedPollerConfig: { minimumPollers: 1, maximumPollers: 4 } },
    });
  });

  it('JWT or IAM auth on every route', () => {
    const jwt = parseConfig({
      ...base,
      api: { auth: { type: 'jwt', issuer: 'https://id.example.com/', audience: ['cdc'] } },
    });
    expect(httpApiConfig(jwt)).toMatchObject({
      authorizers: {
        jwtAuthorizer: { type: 'jwt', issuerUrl: 'https://id.example.com/', audience: ['cdc'] },
      },
    });
    expect(manualSyncEvents(jwt).every((e) => (e.httpApi as { authorizer: unknown }).authorizer)).toBe(true);
    expect(manualSyncEvents(parseConfig(base))[1]).toEqual({
      httpApi: { method: 'POST', path: '/sync', authorizer: { type: 'aws_iam' } },
    });
  });

  it('IAM: exactly the configured secrets, self-invocation, failure destinations', () => {
    const cfg = parseConfig({
      ...base,
      cdc: [
        {
          topics: ['t'],
          target: 'off',
          msk: { arn: MSK },
          retry: { onFailureDestination: 'arn:aws:sqs:us-east-1:1:dlq' },
        },
      ],
    });
    const statements = iamStatements(cfg);
    expect(statements[0]).toEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue'],
      Resource: ['arn:aws:secretsmanager:us-east-1:1:secret:off-AbC'],
    });
    expect(statements.map((s) => s.Action)).toEqual([
      ['secretsmanager:GetSecretValue'],
      ['lambda:InvokeFunction'],
      ['sqs:SendMessage', 'sns:Publish', 's3:PutObject'],
    ]);
  });
});
