-- What to look at after the CDNOW example: the funnel on the history's last day, and RFM classes.
select funnel_date, consumers_p, consumers_l, asset_total
from marts.aipl_daily_funnel
where brand_id = 'cdnow' and funnel_date in ('1997-03-31', '1997-12-31', '1998-06-30')
order by funnel_date;

select rfm_class, count(*) as consumers, round(avg(frequency), 2) as avg_purchase_days,
    round(avg(monetary), 2) as avg_usd
from marts.consumer_rfm
where as_of_date = '1998-06-30'
group by rfm_class
order by consumers desc;
