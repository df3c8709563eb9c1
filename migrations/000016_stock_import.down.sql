DROP TABLE stock_import;
