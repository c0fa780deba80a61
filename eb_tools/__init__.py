"""eb_tools: check, bundle, provision, deploy, promote and run locally an Elastic Beanstalk app.

Never imported by the runtime (core/, web/, worker/): it does not ship to instances.
"""
