SELECT region, SUM(amount) FROM {{ warehouse }}.sales
WHERE region = {{ params.region | quoted }} AND day = '{{ ds }}'
GROUP BY region
