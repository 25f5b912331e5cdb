-- GROW's buyers, frequency and price effects add up to the change in GMV wherever they are defined,
-- and are defined wherever both periods have GMV. The 1e-6 tolerance is in units of the brand's
-- currency, scaled up with the periods' GMV beyond 1 unit: doubles carry about 16 significant digits.
select
    brand_id,
    period_start,
    delta_gmv,
    buyers_effect + frequency_effect + price_effect as sum_of_effects
from {{ ref('brand_grow_period') }}
where (
    decomposition_note is null
    and (
        buyers_effect is null
        or frequency_effect is null
        or price_effect is null
        or abs(buyers_effect + frequency_effect + price_effect - delta_gmv)
        > 1e-6 * greatest(1.0, abs(gmv), abs(previous_gmv))
    )
)
or (decomposition_note is null) != (gmv > 0 and previous_gmv > 0)
