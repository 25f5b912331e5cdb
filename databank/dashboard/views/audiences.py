"""The brand's saved audiences: how many consumers each matches and may be sent, and who they are next
to the brand's base (by AIPL state, home city, lifecycle stage and RFM class, with TGI)."""

import pandas as pd
import streamlit as st

from databank.audiences import AudienceError, list_audiences, size_audience
from databank.audiences.profile import DIMENSIONS, profile_audience
from databank.dashboard import display
from databank.dashboard.context import current, require, scope

DIMENSION_NAMES = {
    "aipl_state": "AIPL state",
    "home_city": "home city",
    "lifecycle_stage": "lifecycle stage",
    "rfm_class": "RFM class",
}


def render() -> None:
    st.title("Audiences")
    _, filters = require("dim_consumers", "dim_memberships", "aipl_state_history")
    scope(filters)
    settings = current().settings
    try:
        listed = list_audiences(settings.audiences.folder)
    except AudienceError as error:
        st.info(str(error), icon=":material/info:")
        return
    names = [name for name, audience in listed if not isinstance(audience, AudienceError)]
    names = [n for n in names if dict(listed)[n].definition.brand_id == filters.brand.brand_id]
    if not names:
        st.info(
            f"No audience of {filters.brand.label} in {settings.audiences.folder}: save one from the flow "
            "page or with `databank audience save`.",
            icon=":material/info:",
        )
        return
    name = st.selectbox("Audience", names, key="audience_name")
    st.caption(dict(listed)[name].definition.description)
    try:
        size = size_audience(settings, name, filters.day)
        profile = profile_audience(settings, name, filters.day)
    except AudienceError as error:
        st.error(str(error))
        return
    matched, consenting, base = st.columns(3)
    matched.metric("matched", display.count(size.matched))
    consenting.metric(
        "consenting", display.count(size.consenting), help=f"May be exported or synced ({size.purpose})."
    )
    base.metric("brand's base", display.count(profile.base), help="Consumers in the brand's funnel.")
    for dimension in DIMENSIONS:
        st.subheader(f"By {DIMENSION_NAMES[dimension]}")
        rows = [row for row in profile.rows if row.dimension == dimension]
        display.table(
            pd.DataFrame([vars(row) for row in rows]),
            {
                "value": display.Column(DIMENSION_NAMES[dimension], "text"),
                "audience": display.Column("in the audience"),
                "audience_share": display.Column("share of the audience", "percent"),
                "base": display.Column("in the base"),
                "base_share": display.Column("share of the base", "percent"),
                "tgi": display.Column(
                    "TGI", "decimal", "Share in the audience over share in the base x 100."
                ),
            },
        )


render()
