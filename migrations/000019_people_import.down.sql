DELETE FROM stock_import WHERE kind = 'people';
ALTER TABLE stock_import DROP COLUMN kind;
