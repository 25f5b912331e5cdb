"""Entry script of the dashboard (`streamlit run`): page set-up, the shared filters, navigation."""

import streamlit as st

from databank.dashboard import PAGES, context

st.set_page_config(page_title="databank · AIPL", page_icon=":material/insights:", layout="wide")
navigation = st.navigation(
    [
        st.Page(page.script, title=page.title, icon=page.icon, default=index == 0)
        for index, page in enumerate(PAGES)
    ]
)
context.keep(context.build_context())
navigation.run()
