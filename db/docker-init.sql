-- Docker path only: the app's role and database (the local stack script creates the same).
CREATE ROLE sms LOGIN PASSWORD 'sms';
CREATE DATABASE sms OWNER sms;
