/** MySQL DATA_TYPE families that decide how a value travels. */
export const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
export const DECIMAL_TYPES = new Set(['decimal', 'numeric']);
export const FLOAT_TYPES = new Set(['float', 'double', 'real']);
export const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
export const GEOMETRY_TYPES = new Set([
  'geometry',
  'point',
  'linestring',
  'polygon',
  'multipoint',
  'multilinestring',
  'multipolygon',
  'geometrycollection',
  'geomcollection',
]);

/** Columns whose values are bytes (binary strings, BIT, geometry), not text or numbers. */
export const isByteColumn = (dataType: string): boolean =>
  BINARY_TYPES.has(dataType) || GEOMETRY_TYPES.has(dataType) || dataType === 'bit';
