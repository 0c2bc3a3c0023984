-- One database per service (each owns its tables and its Alembic history).
CREATE DATABASE fangfan_identification;
CREATE DATABASE fangfan_assistance;
CREATE DATABASE fangfan_subsidy;
CREATE DATABASE fangfan_notification;
CREATE DATABASE fangfan_civil_affairs;
CREATE DATABASE fangfan_gateway;
