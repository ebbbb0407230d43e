"""The pipeline core: plain functions over chunks of links; flows/ wraps them for Prefect."""
