{#- The key an identifier has in the identity map (its node): type and HMAC, as OneID writes them. -#}
{% macro identifier_key(identifier_type, identifier_hmac) -%}
    {{ identifier_type }} || ':' || {{ identifier_hmac }}
{%- endmacro %}
