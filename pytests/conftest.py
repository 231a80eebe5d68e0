"""LISA's own test suites. Run them with the lisa plugin on pool targets:

pytest --connection=ansible --ansible-inventory=inventory/lisa.yml --hosts=lisa --lisa-suite smoke pytests/
"""
