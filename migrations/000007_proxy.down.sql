DROP TABLE proxy;
