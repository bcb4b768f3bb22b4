"""Header normalisation and the telecom synonym/abbreviation dictionary.

Legacy exports spell the same column many ways (``SUB_NO``, ``SubscriberId``,
``subscriber id``). :func:`normalize_header` reduces a header to lower-case
snake case; :data:`SYNONYMS` maps known spellings to the canonical column names
of :mod:`.schema`; :func:`expand_tokens` rewrites abbreviations token by token
so that fuzzy matching compares words, not letters.
"""

import re
import unicodedata

__all__ = [
    "ABBREVIATIONS",
    "SYNONYMS",
    "canonical_candidates",
    "expand_tokens",
    "normalize_header",
    "tokens",
]

_CAMEL_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalize_header(header):
    """Return ``header`` as lower-case snake case without accents or punctuation.

    >>> normalize_header("  SUB_NO ")
    'sub_no'
    >>> normalize_header("SubscriberId")
    'subscriber_id'
    >>> normalize_header("Date de naissance")
    'date_de_naissance'
    >>> normalize_header("\\ufeffMSISDN")
    'msisdn'
    """
    text = str(header or "").replace("\ufeff", "").strip()
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", text))
    return _NON_WORD.sub("_", text.lower()).strip("_")


def tokens(header):
    """Return the tuple of words of a header (after :func:`normalize_header`)."""
    return tuple(t for t in normalize_header(header).split("_") if t)


#: Abbreviations found in legacy headers, rewritten word by word.
ABBREVIATIONS = {
    "acc": "account",
    "acct": "account",
    "accnt": "account",
    "addr": "address",
    "amt": "amount",
    "bal": "balance",
    "ban": "account_number",
    "bc": "bill_cycle",
    "cnt": "count",
    "ctry": "country",
    "cust": "customer",
    "desc": "description",
    "dl": "downlink",
    "dob": "birth_date",
    "dt": "date",
    "dte": "date",
    "eff": "effective",
    "exp": "expiry",
    "fname": "first_name",
    "id": "id",
    "inv": "invoice",
    "lname": "last_name",
    "ln": "line",
    "min": "minutes",
    "mins": "minutes",
    "mob": "mobile",
    "msg": "sms",
    "nbr": "number",
    "nm": "name",
    "no": "number",
    "num": "number",
    "ord": "order",
    "pcode": "zip",
    "ph": "phone",
    "postcode": "zip",
    "prc": "price",
    "prio": "priority",
    "prod": "product",
    "qty": "quantity",
    "rem": "remaining",
    "stat": "status",
    "sts": "status",
    "sub": "subscriber",
    "subs": "subscriber",
    "subscr": "subscriber",
    "tel": "phone",
    "typ": "type",
    "ul": "uplink",
    "val": "valid",
    "vol": "volume",
}


def expand_tokens(header):
    """Return the words of ``header`` with abbreviations spelled out.

    >>> expand_tokens("SUB_NO")
    ('subscriber', 'number')
    >>> expand_tokens("ACCT_BAL")
    ('account', 'balance')
    """
    out = []
    for tok in tokens(header):
        out.extend(ABBREVIATIONS.get(tok, tok).split("_"))
    return tuple(out)


# Canonical column name -> spellings seen in legacy exports (normalised form).
# A spelling may serve several canonical names (``status``); the table being
# mapped decides which one applies.
_RAW_SYNONYMS = {
    "subscriber_id": "sub_no subscriber_id subscriber_no subscriber_number subs_id sub_id subscriberid "
    "customer_id cust_id contract_id contract_no line_id service_id",
    "account_number": "account_num account_number account_no acct_no acct_num acct_number ban "
    "billing_account billing_account_number ba_number ba_no acc_no account_id acct_id bill_acct",
    "account_name": "account_name acct_name customer_name company_name billing_name ba_name",
    "msisdn": "msisdn mobile_number mobile_no mobile msisdn_no phone_number line_number mdn cli "
    "directory_number dn subscriber_number_msisdn",
    "imsi": "imsi imsi_no imsi_number sim_imsi",
    "iccid": "iccid sim_no sim_number sim_serial iccid_no sim_card_no icc_id icc sim_id",
    "plan_code": "rate_plan rate_plan_code plan_code plan tariff tariff_code tariff_plan price_plan "
    "plan_id product_offer offer_code package_code",
    "plan_name": "plan_name rate_plan_name tariff_name plan_description offer_name",
    "contact_phone": "contact_no contact_number contact_phone phone tel telephone home_phone alt_phone "
    "landline",
    "phone": "phone phone_no telephone tel contact_no contact_number",
    "first_name": "first_name firstname fname given_name forename prenom",
    "last_name": "last_name lastname lname surname family_name nom",
    "email": "email e_mail email_address mail email_addr",
    "birth_date": "birth_date date_of_birth dob birthdate birthday",
    "street": "street address address_line1 addr_line1 street_address addr1 address1",
    "city": "city town locality",
    "zip": "zip zip_code postcode post_code postal_code pcode",
    "country": "country country_code ctry",
    "service_type": "service_type svc_type line_type subscription_type product_type_code payment_type",
    "status": "status state sub_status subscriber_status line_status acct_status account_status "
    "order_status invoice_status inv_status",
    "activation_date": "activation_date act_date activated activation_dt start_date connection_date",
    "ocs_balance": "ocs_balance balance main_balance prepaid_balance credit_balance bal",
    "last_usage_date": "last_usage_date last_usage last_event_date last_activity last_call_date",
    "total_voice_minutes": "total_voice_minutes voice_minutes_total total_minutes tot_voice_min",
    "total_data_mb": "total_data_mb data_mb_total total_data tot_data_mb",
    "total_sms_count": "total_sms_count sms_total total_sms tot_sms",
    "cpni_opt_out": "cpni_opt_out cpni_optout cpni_flag cpni marketing_opt_out",
    "bill_cycle_day": "bill_cycle_day bill_cycle bill_day cycle_day billing_cycle bc_day",
    "invoicing_preference": "invoicing_preference invoice_delivery bill_media bill_delivery bill_format",
    "payment_method": "payment_method pay_method payment_type payment_mode pay_mode",
    "currency": "currency currency_code curr ccy",
    "credit_limit": "credit_limit cred_limit credit_lim",
    "ar_balance": "ar_balance balance_due outstanding_balance acct_balance account_balance open_balance",
    "vat": "vat vat_number tax_id vat_no tax_number",
    "created_date": "created_date creation_date created open_date account_open_date",
    "price": "price list_price monthly_fee recurring_charge fee amount mrc",
    "validity_days": "validity_days validity period_days validity_period",
    "voice_minutes": "voice_minutes voice_min mins minutes voice_allowance incl_minutes",
    "voice_unlimited": "voice_unlimited unlimited_voice",
    "data_mb": "data_mb data data_allowance incl_data_mb data_volume_mb",
    "data_unlimited": "data_unlimited unlimited_data",
    "sms_count": "sms_count sms sms_allowance incl_sms",
    "sms_unlimited": "sms_unlimited unlimited_sms",
    "active": "active is_active enabled sellable",
    "product_code": "product_code prod_code item_code sku product_id article",
    "product_name": "product_name prod_name item_name description",
    "product_type": "product_type prod_type item_type category",
    "bucket_id": "bucket_id bucket_no balance_id counter_id",
    "bucket_type": "bucket_type balance_type counter_type",
    "unit": "unit uom unit_of_measure",
    "initial_amount": "initial_amount initial_value granted_amount",
    "remaining_amount": "remaining_amount remaining_value balance_amount current_value remaining",
    "valid_from": "valid_from start_date effective_date eff_date",
    "valid_to": "valid_to expiry_date end_date exp_date",
    "priority": "priority prio consumption_order",
    "order_id": "order_id order_no order_number ord_no ord_id",
    "order_date": "order_date ord_date order_dt",
    "order_type": "order_type ord_type",
    "total_amount": "total_amount order_total amount_total",
    "line_no": "line_no line_number line_num seq item_no",
    "quantity": "quantity qty",
    "unit_price": "unit_price price_unit unit_prc",
    "line_amount": "line_amount line_total amount subtotal",
    "invoice_number": "invoice_number invoice_no inv_no invoice_id bill_no bill_number",
    "invoice_date": "invoice_date inv_date bill_date",
    "due_date": "due_date payment_due_date due_dt",
    "amount_untaxed": "amount_untaxed net_amount amount_excl_tax",
    "amount_tax": "amount_tax tax_amount vat_amount",
    "amount_total": "amount_total gross_amount total_amount amount_incl_tax",
    "amount_residual": "amount_residual open_amount balance_due residual amount_due",
    "description": "description desc label line_description",
    "tax_rate": "tax_rate vat_rate tax_pct",
    "pdf_file": "pdf_file pdf invoice_pdf pdf_path pdf_name invoice_file invoice_document",
    "usage_month": "usage_month month period bill_period usage_period",
    "sms_count_usage": "sms_count sms",
    "roaming": "roaming roaming_flag is_roaming",
    "charged_amount": "charged_amount charge amount_charged rated_amount",
    "last_event": "last_event last_event_date last_cdr",
    "object_name": "object_name object entity table_name",
    "field_code": "field_code field_name column_name attribute",
    "field_label": "field_label label caption",
    "field_type": "field_type data_type type",
    "selection_values": "selection_values values allowed_values options",
    "mandatory": "mandatory required is_required",
    "rule_id": "rule_id rule_no policy_id",
    "rule_name": "rule_name policy_name name",
    "qci": "qci qos_class qos_class_id",
    "max_bitrate_ul_kbps": "max_bitrate_ul_kbps mbr_ul ul_kbps max_ul",
    "max_bitrate_dl_kbps": "max_bitrate_dl_kbps mbr_dl dl_kbps max_dl",
    "fup_threshold_mb": "fup_threshold_mb fup_mb fup_threshold fair_use_mb",
    "action": "action fup_action policy_action",
    "apn": "apn default_apn apn_name",
    "auth_profile": "auth_profile profile auth_prof",
    "roaming_allowed": "roaming_allowed roaming_flag roam_allowed",
    "hss_status": "hss_status provisioning_status prov_status",
    "element_id": "element_id ne_id node_id element_no",
    "element_type": "element_type ne_type node_type",
    "hostname": "hostname host_name host fqdn",
    "ip_address": "ip_address ip mgmt_ip ip_addr",
    "site": "site location data_centre data_center",
    "vendor": "vendor manufacturer",
    "software_version": "software_version sw_version sw_release version",
    "owner_id": "owner_id owner account_manager acct_manager agent_id agent_code dealer_id dealer_code "
    "dealer sales_agent salesperson sales_rep rep_id user_id csr_id",
    "owner_type": "owner_type agent_type user_type role",
    "owner_name": "owner_name agent_name dealer_name user_name full_name staff_name",
    "rate_centre": "rate_centre rate_center ratecenter rate_area",
    "region": "region area area_code geo_region numbering_area",
    "assigned_date": "assigned_date assignment_date assigned_on allocation_date",
    "aging_date": "aging_date ageing_date aging_since ageing_since quarantine_date release_date",
    "port_id": "port_id port_request_id port_no porting_id mnp_id lnp_id port_order_id",
    "direction": "direction port_direction port_type in_out",
    "donor_operator": "donor_operator donor donor_network donor_carrier losing_operator old_operator",
    "recipient_operator": "recipient_operator recipient recipient_network recipient_carrier gaining_operator "
    "new_operator",
    "request_date": "request_date requested_date port_request_date submitted_date submission_date",
    "completion_date": "completion_date completed_date port_date ported_date done_date",
    "transaction_id": "transaction_id txn_id clearinghouse_id npac_id ref_id",
    "state": "state port_state port_status request_status",
    "rejection_code": "rejection_code reject_code reject_reason rejection_reason nack_code",
    "interaction_id": "interaction_id contact_id case_id ticket_id note_id activity_id interaction_no",
    "channel": "channel interaction_type contact_type media kind",
    "occurred_at": "occurred_at interaction_date contact_date created_at logged_at timestamp date_time",
    "author_id": "author_id author created_by logged_by agent_id csr_id user_id",
    "assigned_to": "assigned_to assignee owner_user follow_up_user",
    "subject": "subject title summary topic",
    "body": "body notes note text comments details content",
    "document_id": "document_id doc_id document_no attachment_id file_id",
    "document_type": "document_type doc_type document_kind doc_category",
    "file_path": "file_path path file document_path doc_path location",
    "file_name": "file_name filename original_name original_file_name doc_name",
    "document_date": "document_date doc_date filed_date upload_date uploaded_at",
    "uploaded_by": "uploaded_by filed_by uploader",
}
# Canonical names are themselves spellings; the extra "sms_count_usage" entry
# is folded into "sms_count".
SYNONYMS = {}
for _name, _spellings in _RAW_SYNONYMS.items():
    _target = "sms_count" if _name == "sms_count_usage" else _name
    SYNONYMS.setdefault(_target, set()).update(_spellings.split())
    SYNONYMS[_target].add(_target)
SYNONYMS = {k: frozenset(v) for k, v in SYNONYMS.items()}

_BY_SPELLING = {}
for _name, _spellings in sorted(SYNONYMS.items()):
    for _spelling in _spellings:
        _BY_SPELLING.setdefault(_spelling, set()).add(_name)


def canonical_candidates(header):
    """Return the canonical column names whose synonym list contains ``header``.

    >>> sorted(canonical_candidates("SUB_NO"))
    ['subscriber_id']
    >>> sorted(canonical_candidates("MOBILE_NUMBER"))
    ['msisdn']
    """
    return frozenset(_BY_SPELLING.get(normalize_header(header), ()))
