"""The assistance domain (帮扶): measure catalogue, recommendation rules, measure and plan
lifecycles, visit schedule, contact-person assignment, the employment-service standard. Pure."""
