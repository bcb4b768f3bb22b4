from . import telecom_settings
