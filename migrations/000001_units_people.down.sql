DROP TABLE person;
DROP TABLE unit;
