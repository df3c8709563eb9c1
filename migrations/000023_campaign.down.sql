DROP TABLE campaign_member;
DROP TABLE campaign;
