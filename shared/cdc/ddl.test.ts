import { describe, expect, it } from 'vitest';
import { checkDdl } from './ddl';

const table = { schema: 'shop', table: 'cfg' };
const check =
  (sql: string, source = 'shop', target = 'shop') =>
  () =>
    checkDdl(sql, table, source, target);

describe('checkDdl: what applyDdl may run', () => {
  it.each([
    'ALTER TABLE cfg ADD COLUMN note VARCHAR(32) NULL',
    "ALTER TABLE `cfg` MODIFY COLUMN v VARCHAR(64) NOT NULL DEFAULT ''",
    'ALTER TABLE shop.cfg ADD UNIQUE KEY uk_v (v), ALGORITHM=INPLACE, LOCK=NONE',
    "ALTER TABLE cfg ADD COLUMN `connection` VARCHAR(10) DEFAULT 'engine=federated'",
    'CREATE TABLE cfg (id INT PRIMARY KEY, v VARCHAR(8)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
    'CREATE TABLE IF NOT EXISTS cfg (id INT PRIMARY KEY)',
    'DROP TABLE IF EXISTS cfg',
    'DROP TABLE cfg',
    'TRUNCATE TABLE cfg',
    'RENAME TABLE cfg TO cfg_old',
    'CREATE INDEX ix_v ON cfg (v)',
    'DROP INDEX ix_v ON cfg',
  ])('runs %s', (sql) => {
    expect(check(sql)).not.toThrow();
  });

  it.each([
    ['INSERT INTO cfg VALUES (1)', /only table-level DDL/],
    ["CREATE USER 'x'@'%' IDENTIFIED BY 'p'", /only table-level DDL/],
    ["INSTALL SONAME 'ha_federatedx'", /not understood/],
    [
      "CREATE TABLE cfg (id INT) ENGINE=FEDERATED CONNECTION='mysql://root@127.0.0.1:3306/prod/t'",
      /FEDERATED/,
    ],
    [
      "CREATE TABLE cfg (id INT) ENGINE=CONNECT TABLE_TYPE=MYSQL CONNECTION='mysql://h/d/t'",
      /CONNECT|not understood/,
    ],
    ['CREATE TABLE cfg (id INT) ENGINE=SPIDER', /SPIDER/],
    ['ALTER TABLE cfg ENGINE FEDERATED', /FEDERATED/],
    ["ALTER TABLE cfg CONNECTION='mysql://root@h/d/t'", /CONNECTION|not understood/],
    ["CREATE TABLE cfg (id INT) DATA DIRECTORY='/tmp'", /DIRECTORY/],
    ['CREATE TABLE cfg (id INT) /*!50000 ENGINE=FEDERATED */', /executable comments/],
    ['DROP TABLE other', /other than cfg/],
    ['DROP TABLE mysql.user', /schema "mysql"/],
    ['ALTER TABLE cfg ADD COLUMN a INT; DROP TABLE other', /one DDL statement|not understood/],
    ['CREATE TABLE cfg AS SELECT * FROM mysql.global_priv', /not understood|SELECT/],
    ['GRANT ALL ON *.* TO x', /not understood|only table-level/],
    ['', /not understood|names no table|one DDL statement/],
  ])('refuses %s', (sql, reason) => {
    expect(check(sql)).toThrow(reason);
  });

  it('refuses a statement naming the online schema while it is renamed offline', () => {
    expect(check('ALTER TABLE shop.cfg ADD COLUMN a INT', 'shop', 'shop_test')).toThrow(
      /online schema "shop"/,
    );
    expect(check('ALTER TABLE cfg ADD COLUMN a INT', 'shop', 'shop_test')).not.toThrow();
  });
});
