-- The real customers (a seed) in, a synthetic copy of 100 customers out.
{{ config(materialized='synthetic', rows=100, seed=7) }}

select customer_id, first_name, last_name, company, city, state, country, email, support_rep_id
from {{ ref('customer') }}
