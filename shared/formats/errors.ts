/** A message that cannot be understood as a change: malformed JSON, unknown format, missing fields. */
export class DecodeError extends Error {
  override name = 'DecodeError';
}

/** A value that the offline column cannot hold, or that does not fit the column's type. */
export class ValueError extends Error {
  override name = 'ValueError';
}
