import type { MSKEvent, SelfManagedKafkaEvent } from 'aws-lambda';

// Stub until the CDC sync issue lands.
export const handler = async (_event: MSKEvent | SelfManagedKafkaEvent): Promise<void> => {};
