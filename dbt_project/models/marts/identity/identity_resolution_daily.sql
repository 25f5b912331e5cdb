{{ config(materialized='incremental', unique_key=['source_feed', 'record_date']) }}
-- depends_on: {{ ref('stg_identity__identifiers') }}
-- Incremental: feeds add millions of records a night; a night recounts only the days it touches.
{#- Per feed and local day of the record (the feed's own event date): records, those resolved to a
    consumer, and those whose consumer holds a person-level identifier in the current identity map;
    rows with source_feed 'all' add the feeds up. A night recounts the days its records fall on and
    the last identification_rate_restate_days days, on the run date's map; older days keep the map
    of the last night that recounted them (a full refresh recounts every day on the current
    map). A night reads only the load days that can hold a recounted day's records: tonight's fall
    at most ingest_late_days before the run date, and a record is loaded at most
    ingest_future_tolerance_minutes, in whole days, before its own day. -#}
{#- feed (silver table), its staging model, record id column, local event day column -#}
{%- set feeds = [
    ('online_orders', 'stg_online__order_lines', 'order_line_id', 'transacted_date'),
    ('online_events', 'stg_online__events', 'event_id', 'event_date'),
    ('pos_transactions', 'stg_pos__receipt_lines', 'receipt_line_id', 'sold_date'),
    ('media_exposures', 'stg_media__exposures', 'exposure_id', 'event_date'),
    ('lbs_pings', 'stg_lbs__pings', 'ping_id', 'pinged_date'),
    ('members', 'stg_crm__member_changes', 'member_record_id', 'updated_date'),
] %}
{%- set first_recounted = [var('ingest_late_days'), var('identification_rate_restate_days') - 1] | max %}

with records as (
    {%- for feed, model, record_id, record_date in feeds %}
    select
        '{{ feed }}' as source_feed,
        {{ record_id }} as source_record_id,
        {{ record_date }} as record_date,
        loaded_date
    from {{ ref(model) }}
    where loaded_date <= {{ run_date() }}{% if is_incremental() %} and loaded_date >= {{ earliest_load_day(first_recounted) }}{% endif %}
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
),

{% if is_incremental() %}
recounted_days as (
    select distinct record_date
    from records
    where loaded_date = {{ run_date() }}
        or record_date > {{ add_days(run_date(), -var('identification_rate_restate_days')) }}
),

counted_records as (
    select * from records
    where record_date in (select record_date from recounted_days)
),
{% else %}
counted_records as (
    select * from records
),
{% endif %}

-- Only the recounted days' records are resolved: resolving the whole history would cost the history.
resolved as (
    {%- if is_incremental() %}
    {{ resolve_records(
        ref('stg_identity__identifiers'),
        ref('stg_identity__identity_map'),
        "ids.loaded_date >= " ~ earliest_load_day(first_recounted)
        ~ " and ids.seen_date in (select record_date from recounted_days)",
    ) | indent(4) }}
    {%- else %}
    select * from {{ ref('int_records_resolved') }}
    {%- endif %}
),

person_consumers as (
    select distinct one_id
    from {{ ref('stg_identity__identity_map') }}
    where identifier_type in ('{{ var("identity_person_identifier_types") | join("', '") }}')
),

by_feed as (
    select
        counted_records.source_feed,
        counted_records.record_date,
        count(*) as records,
        count(resolved.one_id) as resolved_records,
        count(person_consumers.one_id) as person_identified_records
    from counted_records
    left join resolved
        on counted_records.source_feed = resolved.source_feed
        and counted_records.source_record_id = resolved.source_record_id
    left join person_consumers
        on resolved.one_id = person_consumers.one_id
    group by counted_records.source_feed, counted_records.record_date
),

with_all as (
    select * from by_feed

    union all

    select
        'all' as source_feed,
        record_date,
        cast(sum(records) as bigint) as records,
        cast(sum(resolved_records) as bigint) as resolved_records,
        cast(sum(person_identified_records) as bigint) as person_identified_records
    from by_feed
    group by record_date
)

select
    source_feed,
    record_date,
    records,
    resolved_records,
    person_identified_records,
    cast(resolved_records as double) / records as resolution_rate,
    cast(person_identified_records as double) / records as identification_rate,
    {{ run_date() }} as counted_on_date
from with_all
