-- Synthetic invoices of the synthetic customers: no `rows`, so each synthetic customer gets
-- as many invoices as the real customers have (learned), and customer_id is always valid.
-- depends_on: {{ ref('synth_customer') }}
{{ config(materialized='synthetic', seed=7) }}

select invoice_id, customer_id, invoice_date, billing_city, billing_country, total
from {{ ref('invoice') }}
