{#- What the AIPL state rules read beside the behaviours (aipl_daily_behaviours), shared by
    aipl_state_history and the evaluation days of its full build (int_aipl_evaluation_days). A model
    calling aipl_trade_area_presence declares its refs with `-- depends_on:`, as the call is rendered
    only under the oaipl scheme. -#}

{#- Active membership spells begun by the run date: a member is Interest while the spell lasts. -#}
{% macro aipl_active_memberships() -%}
    select
        one_id,
        brand_id,
        valid_from,
        valid_to
    from {{ ref('int_membership_spells') }}
    where is_active and valid_from <= {{ run_date() }}
{%- endmacro %}

{#- Days consumers were seen in a store's trade area (the O of the oaipl scheme), up to the run
    date. Presence keeps the id its night resolved to; ids merged away since are nobody today. -#}
{% macro aipl_trade_area_presence() -%}
    select
        one_id,
        brand_id,
        seen_date
    from {{ ref('int_trade_area_presence') }}
    where
        seen_date <= {{ run_date() }}
        and one_id in (select one_id from {{ ref('stg_identity__identity_map') }})
{%- endmacro %}
