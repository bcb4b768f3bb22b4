from . import product_template, res_company, res_partner
