-- Issue 12: what a real 借调审批表 carries. The person's particulars
-- (性别, 出生年月, 政治面貌, 人员类别/编制性质, 学历), and on each
-- secondment who pays the salary (工资关系: with the lending unit unless
-- recorded otherwise), the secondee's own opinion (本人意见, asked first)
-- and the borrowing unit's evaluation at the return (期满鉴定). Constant
-- defaults add the columns without rewriting the tables.
ALTER TABLE person
    ADD COLUMN gender    text NOT NULL DEFAULT '' CONSTRAINT person_gender CHECK (gender IN ('', 'male', 'female')),
    -- 出生年月: the first day of the month.
    ADD COLUMN born      date CONSTRAINT person_born CHECK (born IS NULL OR extract(day FROM born) = 1),
    ADD COLUMN political text NOT NULL DEFAULT '' CONSTRAINT person_political
        CHECK (political IN ('', 'cpc', 'cpc_probationary', 'cyl', 'democratic', 'masses')),
    ADD COLUMN category  text NOT NULL DEFAULT '' CONSTRAINT person_category
        CHECK (category IN ('', 'civil_servant', 'cs_managed', 'institution', 'other')),
    ADD COLUMN education text NOT NULL DEFAULT '' CONSTRAINT person_education CHECK (char_length(education) <= 20);

ALTER TABLE secondment
    ADD COLUMN salary_with  text NOT NULL DEFAULT 'lender' CONSTRAINT secondment_salary_with CHECK (salary_with IN ('lender', 'borrower')),
    ADD COLUMN self_opinion text NOT NULL DEFAULT '' CONSTRAINT secondment_self_opinion CHECK (char_length(self_opinion) <= 200),
    ADD COLUMN evaluation   text NOT NULL DEFAULT '' CONSTRAINT secondment_evaluation CHECK (char_length(evaluation) <= 1000);
