from . import (
    product_template,
    res_company,
    res_partner,
    telecom_number,
    telecom_number_assignment,
    telecom_number_port,
)
