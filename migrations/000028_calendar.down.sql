DROP TABLE calendar_day;
DROP TABLE calendar_year;
