"""Reach: audiences sent to the places a brand acts from (ad platforms' upload files, webhooks, its
CRM) as syncs of adds and removes, under consent, read from the identifier vault."""
