ALTER TABLE secondment DROP COLUMN evaluation, DROP COLUMN self_opinion, DROP COLUMN salary_with;
ALTER TABLE person DROP COLUMN education, DROP COLUMN category, DROP COLUMN political, DROP COLUMN born, DROP COLUMN gender;
