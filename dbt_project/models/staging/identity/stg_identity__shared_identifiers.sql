-- Identifiers OneID judged shared by the run date (a family tablet, a store's device), with the night
-- it first did: from that night on they link no one and belong to no consumer.
select
    node as identifier_key,
    min(dt) as shared_since
from ({{ arrived_by_run_date(source('identity', 'identity_guards')) }}) as guards
group by node
