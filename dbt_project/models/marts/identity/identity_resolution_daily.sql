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
{#- feed (silver table), its staging model, local event day column -#}
{%- set feeds = [
    ('online_orders', 'stg_online__order_lines', 'transacted_date'),
    ('online_events', 'stg_online__events', 'event_date'),
    ('pos_transactions', 'stg_pos__receipt_lines', 'sold_date'),
    ('media_exposures', 'stg_media__exposures', 'event_date'),
    ('lbs_pings', 'stg_lbs__pings', 'pinged_date'),
    ('members', 'stg_crm__member_changes', 'updated_date'),
] %}
{%- set first_recounted = [var('ingest_late_days'), var('identification_rate_restate_days') - 1] | max %}
{%- set earliest_read = earliest_load_day(first_recounted) if is_incremental() else none %}

with records as (
    {%- for feed, model, record_date in feeds %}
    select
        '{{ feed }}' as source_feed,
        {{ record_date }} as record_date,
        loaded_date
    from {{ ref(model) }}
    where loaded_date <= {{ run_date() }}{% if earliest_read %} and loaded_date >= {{ earliest_read }}{% endif %}
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

records_by_day as (
    select
        source_feed,
        record_date,
        count(*) as records
    from counted_records
    group by source_feed, record_date
),

-- Each identifier of the map, and whether its consumer holds a person-level identifier.
mapped_identifiers as (
    select
        identifier_key,
        bool_or(identifier_type in ('{{ var("identity_person_identifier_types") | join("', '") }}'))
            over (partition by one_id) as is_person
    from {{ ref('stg_identity__identity_map') }}
),

-- A record resolves through the sightings of its linkable identifiers. Standardise writes them from
-- the record's own row, with its day and load day, so a day's resolved records are counted without
-- joining the sightings back to the feeds' records (on 88M records, that join and a second pass
-- over the feeds were half this model's time). A record's identifiers map to one consumer (tested
-- in int_records_resolved and int_night_records_resolved), so any of them says if it is a person.
resolved_records as (
    select
        ids.source_feed,
        ids.seen_date as record_date,
        bool_or(mapped_identifiers.is_person) as is_person
    from {{ ref('stg_identity__identifiers') }} as ids
    inner join mapped_identifiers
        on ids.identifier_key = mapped_identifiers.identifier_key
    where
        ids.is_linkable
        and ids.loaded_date <= {{ run_date() }}{% if earliest_read %}
        and ids.loaded_date >= {{ earliest_read }}
        and ids.seen_date in (select record_date from recounted_days){% endif %}
    group by ids.source_feed, ids.source_record_id, ids.seen_date, ids.loaded_date
),

resolved_by_day as (
    select
        source_feed,
        record_date,
        count(*) as resolved_records,
        count(case when is_person then 1 end) as person_identified_records
    from resolved_records
    group by source_feed, record_date
),

by_feed as (
    select
        records_by_day.source_feed,
        records_by_day.record_date,
        records_by_day.records,
        coalesce(resolved_by_day.resolved_records, 0) as resolved_records,
        coalesce(resolved_by_day.person_identified_records, 0) as person_identified_records
    from records_by_day
    left join resolved_by_day
        on records_by_day.source_feed = resolved_by_day.source_feed
        and records_by_day.record_date = resolved_by_day.record_date
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
