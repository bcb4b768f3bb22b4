from . import telecom_number_assign, telecom_number_port_reject, telecom_settings
