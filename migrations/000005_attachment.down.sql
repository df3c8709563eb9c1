DROP TABLE attachment;
