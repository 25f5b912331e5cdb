{#- Purchases as seen from a day (docs/aipl.md: a paid line of the brand, net of full refunds).
    `lines` is the alias of fct_order_lines in the calling query, `day` a date expression. -#}

{#- The line is a purchase on `day`: a paid sale that refunds had not yet covered in full that day. -#}
{% macro health_is_purchase_on(lines, day) -%}
    ({{ lines }}.line_type = 'sale' and {{ lines }}.gross_amount > 0 and (
        {{ lines }}.fully_refunded_date is null or {{ lines }}.fully_refunded_date > {{ day }}
    ))
{%- endmacro %}

{#- What the purchase was worth on `day`, in the brand's currency, as a double. A line refunded in
    full only after `day` still counted in full then; partial refunds carry no date in
    fct_order_lines, so they are netted whenever they came. -#}
{% macro health_amount_on(lines, day) -%}
    cast(case
        when {{ lines }}.fully_refunded_date > {{ day }} then {{ lines }}.gross_amount
        else {{ lines }}.net_amount
    end as double)
{%- endmacro %}
