{{ config(
    materialized='incremental',
    unique_key='touchpoint_id',
    pre_hook="{{ rewind_nights_from('loaded_date') }}",
    post_hook="{{ forget_unresolved_touches() }}",
) }}
-- depends_on: {{ ref('stg_identity__identifiers') }}
-- depends_on: {{ ref('stg_identity__shared_identifiers') }}
-- depends_on: {{ ref('stg_identity__identity_map') }}
-- depends_on: {{ ref('stg_identity__one_id_changes') }}
-- depends_on: {{ ref('int_night_records_resolved') }}
-- Incremental: the behaviour feeds add millions of rows a night, so a night adds its own touches and
-- re-resolves only the touches that night changed: of consumers whose ids its merges and splits
-- changed, and of records carrying an identifier it judged shared. A touch whose record no longer
-- resolves (every identifier it carries is shared now) leaves, as a full build would not hold it.
{%- set touch_columns = [
    'brand_id', 'behaviour', 'touched_at', 'touched_date', 'channel', 'platform', 'store_id',
    'campaign_id', 'sku', 'coupon_id', 'amount', 'quantity', 'related_record_id', 'source_feed',
    'source_record_id', 'loaded_date',
] %}

with touches as (
    select * from {{ ref('int_touchpoints_online_events') }}
    union all
    select * from {{ ref('int_touchpoints_media') }}
    union all
    select * from {{ ref('int_touchpoints_order_lines') }}
    union all
    select * from {{ ref('int_touchpoints_store_visits') }}
),

{% if is_incremental() %}
night_touches as (
    select * from touches
    where loaded_date = {{ run_date() }}
),

night_resolved as (
    select * from {{ ref('int_night_records_resolved') }}
),

changed_touches as (
    select * from {{ this }}
    where one_id in (
        select old_one_id from {{ ref('stg_identity__one_id_changes') }}
        where changed_date = {{ run_date() }}
    )
    -- A re-run of an earlier night (late data) finds ids that later nights' merges and splits made:
    -- they are resolved again on that night's map.
    or one_id not in (
        select one_id from {{ ref('stg_identity__identity_map') }}
        where one_id is not null
    )
    or source_record_id in (
        select ids.source_record_id
        from {{ ref('stg_identity__identifiers') }} as ids
        inner join {{ ref('stg_identity__shared_identifiers') }} as shared
            on ids.identifier_key = shared.identifier_key
        where shared.shared_since = {{ run_date() }}
    )
),

changed_resolved as (
    {{ resolve_records(
        ref('stg_identity__identifiers'),
        ref('stg_identity__identity_map'),
        "ids.source_record_id in (select source_record_id from changed_touches)",
    ) | indent(4) }}
),

resolved_touches as (
    {{ resolved_touches('night_touches', 'night_resolved', touch_columns) | indent(4) }}

    union all

    {{ resolved_touches('changed_touches', 'changed_resolved', touch_columns, keep_unresolved=true) | indent(4) }}
)
{% else %}
resolved as (
    select * from {{ ref('int_records_resolved') }}
),

resolved_touches as (
    {{ resolved_touches('touches', 'resolved', touch_columns) | indent(4) }}
)
{% endif %}

select
    {{ dbt.concat(['source_feed', "':'", 'source_record_id', "':'", 'behaviour']) }} as touchpoint_id,
    one_id,
    {{ column_list(touch_columns) | indent(4) }}
from resolved_touches
