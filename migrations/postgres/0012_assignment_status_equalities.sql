-- Version 11 -> 12 on PostgreSQL: nothing changes. The step is SQLite's alone
-- (migrations/0012_assignment_status_equalities.sql: a CHECK SQLite tested slowly); PostgreSQL
-- tests the list as it was, and its schema moves to version 12 with SQLite's. Never edit this
-- file once a release has shipped it.
SELECT 1;
