/**
 * The local pipeline's schema: small and realistic, the same on the online and the offline server (the
 * shipped sync.config.yml and events/ name these tables). A config table, approval templates with JSON
 * columns, and users with an auto-increment id and a unique business key.
 */
export const DEV_SCHEMA = 'shop';

export const DEV_TABLES: Record<string, string> = {
  t_config: `CREATE TABLE IF NOT EXISTS t_config (
    id BIGINT NOT NULL PRIMARY KEY,
    name VARCHAR(128) NOT NULL,
    value TEXT NULL,
    price DECIMAL(12,2) NULL,
    updated_at DATETIME(3) NOT NULL,
    UNIQUE KEY uk_name (name)
  ) DEFAULT CHARSET=utf8mb4`,
  t_approval_template: `CREATE TABLE IF NOT EXISTS t_approval_template (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    code VARCHAR(64) NOT NULL,
    title VARCHAR(200) NOT NULL,
    steps JSON NOT NULL,
    form_schema JSON NULL,
    enabled TINYINT(1) NOT NULL DEFAULT 1,
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    UNIQUE KEY uk_code (code)
  ) DEFAULT CHARSET=utf8mb4`,
  t_user: `CREATE TABLE IF NOT EXISTS t_user (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_no VARCHAR(32) NOT NULL,
    name VARCHAR(64) NOT NULL,
    email VARCHAR(128) NULL,
    balance DECIMAL(18,4) NOT NULL DEFAULT 0,
    created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    UNIQUE KEY uk_user_no (user_no)
  ) DEFAULT CHARSET=utf8mb4`,
};

/** Statements that create the schema (idempotent): run on both servers. */
export function devSchemaSql(): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS \`${DEV_SCHEMA}\` CHARACTER SET utf8mb4`,
    ...Object.values(DEV_TABLES).map((ddl) =>
      ddl.replace('IF NOT EXISTS ', `IF NOT EXISTS \`${DEV_SCHEMA}\`.`),
    ),
  ];
}
